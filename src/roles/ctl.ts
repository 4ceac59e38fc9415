/** `novaedge ctl` / `novactl`: wiring only; the commands live in src/ctl/. */
export { main } from "../ctl/mod.ts";
