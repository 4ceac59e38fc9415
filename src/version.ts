/** NovaEdge's own version; build.ts may stamp NOVAEDGE_VERSION at bundle time. */
export const VERSION = "0.1.0-dev";
