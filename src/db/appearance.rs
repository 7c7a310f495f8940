//! The blog's look (one row, migration 0018) and the page views behind Popular Posts.

use sqlx::PgPool;

use crate::domain::theme::{
    Appearance, Font, Gadget, GadgetOptions, Link, Rgb, SidebarSide, ThemeName, complete_gadgets,
};

/// The stored look. A value the code no longer knows (a theme removed, a font renamed) falls
/// back to the theme's own rather than breaking every page.
pub async fn load(db: &PgPool) -> Result<Appearance, sqlx::Error> {
    let row = sqlx::query!(
        r#"select theme, dark_variant, background_colour, text_colour, link_colour, accent_colour,
                  body_font, heading_font, content_width, sidebar, header_image, logo, favicon,
                  custom_css, navigation, gadgets, gadget_options
           from appearance where id = 1"#
    )
    .fetch_one(db)
    .await?;
    let mut gadgets: Vec<Gadget> = serde_json::from_value(row.gadgets).unwrap_or_default();
    if gadgets.is_empty() {
        gadgets = crate::domain::theme::default_gadgets();
    }
    complete_gadgets(&mut gadgets);
    Ok(Appearance {
        theme: ThemeName::parse(&row.theme).unwrap_or(ThemeName::Classic),
        dark_variant: row.dark_variant,
        background: Rgb::parse(&row.background_colour),
        text: Rgb::parse(&row.text_colour),
        link: Rgb::parse(&row.link_colour),
        accent: Rgb::parse(&row.accent_colour),
        body_font: Font::parse(&row.body_font),
        heading_font: Font::parse(&row.heading_font),
        content_width: (row.content_width > 0).then_some(row.content_width),
        sidebar: SidebarSide::parse(&row.sidebar).unwrap_or(SidebarSide::Right),
        header_image: row.header_image,
        logo: row.logo,
        favicon: row.favicon,
        custom_css: row.custom_css,
        navigation: serde_json::from_value::<Vec<Link>>(row.navigation).unwrap_or_default(),
        gadgets,
        options: serde_json::from_value::<GadgetOptions>(row.gadget_options).unwrap_or_default(),
    })
}

pub async fn save(db: &PgPool, appearance: &Appearance) -> Result<(), sqlx::Error> {
    let colour = |c: Option<Rgb>| c.map(Rgb::hex).unwrap_or_default();
    let font = |f: Option<Font>| f.map_or("theme", Font::slug);
    sqlx::query!(
        r#"update appearance set theme = $1, dark_variant = $2, background_colour = $3,
                  text_colour = $4, link_colour = $5, accent_colour = $6, body_font = $7,
                  heading_font = $8, content_width = $9, sidebar = $10, header_image = $11,
                  logo = $12, favicon = $13, custom_css = $14, navigation = $15, gadgets = $16,
                  gadget_options = $17
           where id = 1"#,
        appearance.theme.slug(),
        appearance.dark_variant,
        colour(appearance.background),
        colour(appearance.text),
        colour(appearance.link),
        colour(appearance.accent),
        font(appearance.body_font),
        font(appearance.heading_font),
        appearance.content_width.unwrap_or(0),
        appearance.sidebar.slug(),
        appearance.header_image,
        appearance.logo,
        appearance.favicon,
        appearance.custom_css,
        serde_json::json!(appearance.navigation),
        serde_json::json!(appearance.gadgets),
        serde_json::json!(appearance.options),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Adds views counted in memory: (post, day, views) triples, one statement for the batch.
pub async fn add_views(
    db: &PgPool,
    posts: &[i64],
    days: &[time::Date],
    views: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into page_views (post_id, day, views)
           select v.post_id, v.day, v.views
           from unnest($1::bigint[], $2::date[], $3::bigint[]) as v (post_id, day, views)
           where exists (select 1 from posts p where p.id = v.post_id)
           on conflict (post_id, day) do update set views = page_views.views + excluded.views"#,
        posts,
        days,
        views
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A post in the Popular Posts gadget.
#[derive(Debug, Clone)]
pub struct PopularPost {
    pub title: String,
    pub path: String,
    pub views: i64,
}

/// The most viewed published posts since `since` (all time when none).
pub async fn popular_posts(
    db: &PgPool,
    since: Option<time::Date>,
    limit: i64,
) -> Result<Vec<PopularPost>, sqlx::Error> {
    sqlx::query_as!(
        PopularPost,
        r#"select p.title, p.path, v.views as "views!"
           from (select post_id, sum(views)::bigint as views from page_views
                 where $1::date is null or day >= $1
                 group by post_id) v
           join posts p on p.id = v.post_id
           where p.kind = 'post' and p.status = 'published' and p.published_at <= now()
           order by v.views desc, p.published_at desc
           limit $2"#,
        since,
        limit
    )
    .fetch_all(db)
    .await
}

/// A static page for the Pages gadget.
#[derive(Debug, Clone)]
pub struct PageLink {
    pub title: String,
    pub path: String,
}

pub async fn pages(db: &PgPool) -> Result<Vec<PageLink>, sqlx::Error> {
    sqlx::query_as!(
        PageLink,
        r#"select title, path from posts
           where kind = 'page' and status = 'published' and published_at <= now()
           order by title, id"#
    )
    .fetch_all(db)
    .await
}

/// A comment in the Recent Comments gadget.
#[derive(Debug, Clone)]
pub struct RecentComment {
    pub id: i64,
    pub author_name: String,
    pub post_title: String,
    pub excerpt: String,
}

pub async fn recent_comments(db: &PgPool, limit: i64) -> Result<Vec<RecentComment>, sqlx::Error> {
    sqlx::query_as!(
        RecentComment,
        r#"select c.id, c.author_name, p.title as post_title,
                  left(regexp_replace(c.body_source, '\s+', ' ', 'g'), 90) as "excerpt!"
           from comments c join posts p on p.id = c.post_id
           where c.status = 'approved' and p.status = 'published' and p.published_at <= now()
           order by c.created_at desc, c.id desc
           limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
}
