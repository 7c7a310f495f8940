-- Likes and boosts from the fediverse no longer notify from a trigger. A NOTIFY serialises
-- commits (see 0021), and an inbox flood is a thousand of them a second: every like waited
-- for the one before it, and each woke every listening process. The inbox now gives the
-- post to `page_cache::notices` after its commit, which sends one notice for many likes.
drop trigger fediverse_reactions_notify on fediverse_reactions;
