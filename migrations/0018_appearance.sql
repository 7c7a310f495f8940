-- How the blog looks: its theme, the designer's choices, the header, the navigation bar and the
-- sidebar's gadgets. One row, read with the settings; a change notifies every process (its page
-- cache empties) and moves the content version (its cached look is read again).
create table appearance (
    id smallint primary key default 1 check (id = 1),
    theme text not null default 'classic',
    -- Readers whose device prefers dark get the theme's dark palette.
    dark_variant boolean not null default true,
    -- '#rrggbb', or '' for the theme's own.
    background_colour text not null default '',
    text_colour text not null default '',
    link_colour text not null default '',
    accent_colour text not null default '',
    -- A font stack's name (see domain::theme::Font), 'theme' for the theme's own.
    body_font text not null default 'theme',
    heading_font text not null default 'theme',
    -- The text column's width in CSS pixels; 0 for the theme's own.
    content_width integer not null default 0,
    sidebar text not null default 'right' check (sidebar in ('right', 'left', 'none')),
    -- '/media/…' addresses (or https URLs), '' for none.
    header_image text not null default '',
    logo text not null default '',
    favicon text not null default '',
    custom_css text not null default '',
    -- [{"label": …, "url": …}] in the order shown.
    navigation jsonb not null default '[]',
    -- [{"kind": …, "on": …, "title": …}] in the order shown; kinds missing are added switched off.
    gadgets jsonb not null default '[]',
    -- Each gadget's own options (domain::theme::GadgetOptions).
    gadget_options jsonb not null default '{}'
);
insert into appearance default values;

create trigger appearance_notify after insert or update or delete on appearance
    for each statement execute function notify_content_changed();
create trigger appearance_content_version after update on appearance
    for each statement execute function bump_content_version();

-- Page views per post per day, for the Popular Posts gadget: no cookie, no address, no reader;
-- counted in memory by each process and added here in batches.
create table page_views (
    post_id bigint not null references posts (id) on delete cascade,
    day date not null,
    views bigint not null check (views >= 0),
    primary key (post_id, day)
);
create index page_views_day_idx on page_views (day);
