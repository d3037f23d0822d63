export { session, type Session } from "./session.svelte";
