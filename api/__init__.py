"""The thin adapters: REST and WebSocket app, CLI."""
