/**
 * cards/escape.ts: user text placed where Teams renders markdown (card TextBlocks, message text)
 * shows exactly its characters: no link, emphasis, heading, list, tag or {{DATE()}} survives.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { Template } from 'adaptivecards-templating';
import { escapeMarkdown, escapeMessageText, escapeXml } from '../../cards/escape';
import { hasLiveLink, unescapedMarkup } from '../support/markdown-check';

const EVIL = '[click](https://evil.example.com)';

describe('cards/escape: markdown and message text', () => {
  it(`a display name ${EVIL} is no live link, in a TextBlock or in message text`, () => {
    assert.equal(hasLiveLink(EVIL), true, 'the checker sees the raw link');
    assert.equal(escapeMarkdown(EVIL), '\\[click\\]\\(https://evil.example.com\\)');
    assert.equal(hasLiveLink(escapeMarkdown(EVIL)), false);
    assert.equal(hasLiveLink(escapeMessageText(EVIL)), false);
  });

  it('emphasis, code, headings, lists, quotes, tags and {{DATE()}} are made inert; ordinary names are untouched', () => {
    assert.equal(escapeMarkdown('Carol Chen'), 'Carol Chen');
    assert.equal(escapeMarkdown("O'Brien-Smith, Jr."), "O'Brien-Smith, Jr.");
    assert.equal(escapeMarkdown('**bold** _it_ `code` ~~s~~'), '\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~');
    assert.equal(escapeMarkdown('# head\n- item\n+ item\n1. one\n2) two\n> quote'), '\\# head\n\\- item\n\\+ item\n1\\. one\n2\\) two\n\\> quote');
    assert.equal(escapeMarkdown('<at>Bob</at>'), '\\<at\\>Bob\\</at\\>');
    assert.doesNotMatch(escapeMarkdown('{{DATE(2020-01-01T00:00:00Z)}}'), /\{\{/);
    assert.equal(escapeMarkdown('a\\b'), 'a\\\\b');
  });

  it('message text: angle brackets and ampersands become entities (no forged <at> or tag), markdown is escaped', () => {
    assert.equal(escapeMessageText('<at>Bob</at> & co'), '&lt;at&gt;Bob&lt;/at&gt; &amp; co');
    assert.equal(escapeMessageText('> [x](y)'), '&gt; \\[x\\]\\(y\\)');
    assert.equal(escapeXml('Eve <script> & "x"'), 'Eve &lt;script&gt; &amp; "x"');
  });

  it('property: no markdown-significant character of any input survives unescaped', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: fc.constantFrom(...'[]()*_`~|!#<>{}\\ ab-+1.\n'.split('')) }), (s) => {
        assert.deepEqual(unescapedMarkup(escapeMarkdown(s)), [], JSON.stringify(s));
        assert.deepEqual(unescapedMarkup(escapeMessageText(s)).filter((c) => c !== '<' && c !== '>'), [], JSON.stringify(s));
        assert.doesNotMatch(escapeMessageText(s), /[<>]/);
      }),
      { numRuns: 2000 },
    );
  });

  it('card templating never re-expands ${...} that arrives in data (adaptivecards-templating expands once)', () => {
    const out = new Template({ type: 'AdaptiveCard', body: [{ type: 'TextRun', text: '${name}' }] }).expand({ $root: { name: '${secret} ${$root.secret}', secret: 'LEAK' } }) as { body: Array<{ text: string }> };
    assert.equal(out.body[0]!.text, '${secret} ${$root.secret}');
  });
});
