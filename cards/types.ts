/**
 * The shape of what the card functions return: plain Adaptive Card 1.5 JSON, ready to put in an
 * attachment (`application/vnd.microsoft.card.adaptive`) or an invoke response. Loosely typed on
 * purpose: the cards are checked against the real schema by the adaptivecards parser in tests.
 */
export interface CardElement {
  type: string;
  [property: string]: unknown;
}

export interface CardAction {
  type: 'Action.Execute' | 'Action.OpenUrl' | 'Action.ShowCard' | 'Action.ToggleVisibility';
  title?: string;
  verb?: string;
  data?: Record<string, unknown>;
  [property: string]: unknown;
}

export interface CardRefresh {
  action: { type: 'Action.Execute'; verb: string; data: Record<string, unknown> };
  /** Teams refreshes the card automatically only for these users (at most 60). */
  userIds: string[];
}

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema?: string;
  version: '1.5';
  body: CardElement[];
  actions?: CardAction[];
  refresh?: CardRefresh;
  /** `entities`: @mentions inside the card ("Mention support within Adaptive Cards"); each `<at>` tag is in a TextBlock. */
  msteams?: { width?: 'Full'; entities?: Array<{ type: 'mention'; text: string; mentioned: { id: string; name: string; type?: 'person' | 'tag' } }> };
  [property: string]: unknown;
}

/** One static choice of an Input.ChoiceSet, also the shape of an application/search result. */
export interface CardChoice {
  title: string;
  value: string;
}
