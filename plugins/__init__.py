"""Built-in network plugins. Each registers through the `parcours` entry-point group, exactly
as a third-party plugin would."""
