"""The zero-credential demo: the daemon trading the seed portfolio on a local emulator."""
