"""The web console: a static ES-module app served by the admin listener under /console/, which
calls the admin API with the admin token it is signed in with (docs/console.md)."""
