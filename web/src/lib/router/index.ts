export { interceptLinks, match, navigate, router, type Location } from "./router.svelte";
