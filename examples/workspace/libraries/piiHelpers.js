// A workspace library: functions import it as "piiHelpers".
export function maskEmail(email) {
  const at = email.indexOf("@");
  if (at < 1) {
    return "***";
  }
  return email[0] + "***" + email.slice(at);
}
