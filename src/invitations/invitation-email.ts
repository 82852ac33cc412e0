/** The invitation and reminder emails (issue 12 §3): the resource's portal link with the login filled in. */
import type { NewMessage } from '../outbox/message.repository';
import type { Sendable } from './invitation.repository';

/** The portal's sign-in page with `login` prefilled (the sign-in rules stay the same). */
export function invitationLink(portalUrl: string, login: string): string {
  return `${portalUrl}?login=${encodeURIComponent(login)}`;
}

export function invitationEmail(s: Sendable, portalUrl: string): NewMessage {
  const reminder = s.kind === 'reminder';
  const expires = s.expiresAt.toISOString().slice(0, 10);
  return {
    recipient: s.email,
    subject: `${reminder ? 'Reminder: set' : 'Set'} up two-step sign-in for ${s.resourceName}`,
    bodyText: [
      'Hello,',
      '',
      `${reminder ? 'You have not yet set up' : 'You are invited to set up'} two-step sign-in for ${s.resourceName}.`,
      'Open this link, sign in as usual and add your second factor (an authenticator app, for example):',
      '',
      invitationLink(portalUrl, s.login),
      '',
      `This invitation is valid until ${expires} (UTC).`,
      'If you did not expect this email, ask your administrator before using the link.',
    ].join('\n'),
  };
}
