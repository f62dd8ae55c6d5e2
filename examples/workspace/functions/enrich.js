// Runs in the transformer's isolated-vm before the events-webhook destination.
import { maskEmail } from "piiHelpers";

export function transformEvent(event, metadata) {
  // Drop test traffic.
  if (event.properties && event.properties.test === true) {
    return null;
  }
  const meta = metadata(event);
  event.context = event.context || {};
  event.context.sourceId = meta.sourceId;
  if (event.context.traits && event.context.traits.email) {
    event.context.traits.email = maskEmail(event.context.traits.email);
  }
  return event;
}
