"""The EditEmoTalk network in torch: audio front end, content and emotion encoders, generator, mapping network."""
