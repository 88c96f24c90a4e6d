-- Issue 19: screened devices (a fridge's panel, a washer's screen) linked with the scope
-- refill:buttons show the customer's one-tap buttons. The products the customer chose for each
-- such device on the consent page, in the order shown.
CREATE TABLE device_buttons (
    device_id BIGINT NOT NULL REFERENCES devices (id),
    asin      TEXT NOT NULL REFERENCES products (asin),
    position  BIGINT NOT NULL,
    PRIMARY KEY (device_id, asin)
);

-- An order pressed on a device's screen: the device, and the press's idempotency key, so that a
-- retried press answers with the order it placed and never places a second one.
ALTER TABLE orders ADD COLUMN pressed_on BIGINT REFERENCES devices (id);
ALTER TABLE orders ADD COLUMN press_key TEXT;
CREATE UNIQUE INDEX orders_one_per_press ON orders (pressed_on, press_key)
    WHERE press_key IS NOT NULL;
