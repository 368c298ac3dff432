"""Block Kit renderers, one module per surface.

Pure functions ``(domain objects, state, viewer timezone) -> (text, blocks)`` or a View,
built with slack_sdk's models. The same renderer serves the first post and every update.
They never touch the database or the network.
"""
