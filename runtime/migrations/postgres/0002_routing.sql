-- Every channel a payment was attempted on, oldest first: a JSON array of
-- {channel, plugin: {name, version}, outcome, failure?}. Written in the same
-- transaction as the `payment.attempt` event it mirrors.
ALTER TABLE payments ADD COLUMN attempts TEXT NOT NULL DEFAULT '[]';
