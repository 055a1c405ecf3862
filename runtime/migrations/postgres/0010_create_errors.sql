-- A create that stored its payment can still answer with an error: the
-- channel refused the request, could not take it, or left the outcome
-- unknown. That error (`payments::CreateError` as JSON) is written with the
-- attempt that brought it, so that an idempotent replay of the create
-- answers with the same status and error as the first answer. NULL when
-- the create answered with the payment, or has not answered yet.
ALTER TABLE payments ADD COLUMN create_error TEXT;
