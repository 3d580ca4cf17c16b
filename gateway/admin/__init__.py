"""The admin listener (aiohttp, off the request path): its endpoints, their OpenAPI document,
who may call them, and the audit log."""
