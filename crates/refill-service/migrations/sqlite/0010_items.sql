-- Issue 17: items without a device. Each customer's "At home" list is a device of a model of
-- its own (`home-{customer}`), one slot per item; `home_of` names the customer whose list a
-- model is (NULL for real device models).
ALTER TABLE device_models ADD COLUMN home_of INTEGER REFERENCES customers (id);
