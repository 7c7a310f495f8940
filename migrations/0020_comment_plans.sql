-- A comment's statements are planned once per connection, not once per comment. PostgreSQL plans
-- a prepared statement afresh for its first five runs and then keeps a generic plan only if it
-- looks no costlier; for the statements of submit_comment (and the triggers its insert fires)
-- it never did, so every comment paid for planning them again: about half of PostgreSQL's time
-- in a wave of comments (bench/wave). Their generic plans are the ones the custom plans chose:
-- every lookup is by post, client or parent along its own index.
alter function submit_comment(bigint, bigint, text, text, text, text, text, text, text, text,
                              bigint, real, text[])
    set plan_cache_mode = force_generic_plan;
