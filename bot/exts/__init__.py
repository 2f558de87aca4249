"""The bot's features, one extension each, loaded by `ArticleBot.setup_hook`."""
