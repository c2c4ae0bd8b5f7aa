/** Every form a server may echo a secret in: as is, percent- and form-encoded, escaped in JSON. */
export const echoedForms = (secret: string): ReadonlyArray<string> => {
  const json = JSON.stringify(secret).slice(1, -1)
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    json,
    json.replace(/\//g, "\\/"),
    json.replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)
  ]
}
