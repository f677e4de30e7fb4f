/** What a Claude model id may look like, e.g. "claude-sonnet-4-5": checked before it is sent anywhere. */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
