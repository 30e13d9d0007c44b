export * from './model';
export * from './errors';
export * from './ports';
export * from './api';
export * from './policy/types';
export { approvalTerms, dueReminderStep, remindersDue, type ReminderStep } from './reminders';
export * from './services/types';
export * from './kpi';
