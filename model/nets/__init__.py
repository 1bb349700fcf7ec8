"""The networks (PyTorch, no bpy): front end, encoders, dual-channel generator, mapping network."""
