-- Issue 20: an operator can disable a customer (`refill-service customers disable`): their sign-in,
-- tokens and devices stop working until enabled again; nothing of theirs is deleted.
ALTER TABLE customers ADD COLUMN disabled_at_ms INTEGER;
