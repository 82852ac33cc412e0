/**
 * @simplewebauthn/server, loaded on first use: it adds about 25 MB to a process's resident memory
 * (its ASN.1 and COSE dependencies), which every web process and worker paid at start although only
 * security-key enrolment and sign-in use it.
 */
let loading: Promise<typeof import('@simplewebauthn/server')> | undefined;

export function webauthnLibrary(): Promise<typeof import('@simplewebauthn/server')> {
  loading ??= import('@simplewebauthn/server');
  return loading;
}
