"""Open Badges: OB 2.0 hosted JSON-LD, OB 3.0 signed credentials, keys, baking, images and
verification. Pure functions over plain values; the service layer feeds them from the store."""
