//! The blog's look (one row, migration 0018) and the page views behind Popular Posts.

use sqlx::PgPool;

use crate::domain::theme::{
    Appearance, Font, Gadget, GadgetOptions, Link, Rgb, SidebarSide, ThemeName, complete_gadgets,
};

/// The stored look. A value the code no longer knows (a theme removed, a font renamed) falls
/// back to the theme's own rather than breaking every page.
pub async fn load(db: &PgPool) -> Result<Appearance, sqlx::Error> {
    let Some(row) = sqlx::query!(
        r#"select theme, dark_variant, background_colour, text_colour, link_colour, accent_colour,
                  body_font, heading_font, content_width, sidebar, header_image, logo, favicon,
                  custom_css, navigation, gadgets, gadget_options
           from appearance where id = 1"#
    )
    .fetch_optional(db)
    .await?
    else {
        // The row removed by hand: the blog as it starts (a save puts the row back).
        return Ok(Appearance::default());
    };
    let mut gadgets = lenient_gadgets(row.gadgets);
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
        content_width: Some(row.content_width)
            .filter(|width| crate::domain::theme::WIDTH_RANGE.contains(width)),
        sidebar: SidebarSide::parse(&row.sidebar).unwrap_or(SidebarSide::Right),
        header_image: row.header_image,
        logo: row.logo,
        favicon: row.favicon,
        custom_css: row.custom_css,
        navigation: serde_json::from_value::<Vec<Link>>(row.navigation).unwrap_or_default(),
        gadgets,
        options: lenient_options(row.gadget_options),
    })
}

/// The stored gadgets, skipping any this Folio does not know (one written by a newer version,
/// or by hand) rather than losing every switch, place and title.
fn lenient_gadgets(value: serde_json::Value) -> Vec<Gadget> {
    let serde_json::Value::Array(items) = value else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| match serde_json::from_value::<Gadget>(item.clone()) {
            Ok(gadget) => Some(gadget),
            Err(error) => {
                tracing::warn!(%error, %item, "a stored gadget is not one Folio knows; skipped");
                None
            }
        })
        .collect()
}

/// The stored gadget options, field by field: a value Folio cannot read takes its default and
/// the others are kept. Numbers are held to the ranges the theme form allows.
fn lenient_options(value: serde_json::Value) -> GadgetOptions {
    let mut kept = serde_json::Map::new();
    if let serde_json::Value::Object(fields) = value {
        for (name, field) in fields {
            let mut trial = kept.clone();
            trial.insert(name.clone(), field);
            if serde_json::from_value::<GadgetOptions>(serde_json::Value::Object(trial.clone()))
                .is_ok()
            {
                kept = trial;
            } else {
                tracing::warn!(option = %name, "a stored gadget option could not be read; its default is used");
            }
        }
    }
    let mut options = serde_json::from_value::<GadgetOptions>(serde_json::Value::Object(kept))
        .unwrap_or_default();
    options.popular_count = options.popular_count.clamp(1, 20);
    options.popular_days = options.popular_days.clamp(0, 3650);
    options.recent_comments_count = options.recent_comments_count.clamp(1, 20);
    options
}

pub async fn save(db: &PgPool, appearance: &Appearance) -> Result<(), sqlx::Error> {
    let colour = |c: Option<Rgb>| c.map(Rgb::hex).unwrap_or_default();
    let font = |f: Option<Font>| f.map_or("theme", Font::slug);
    let mut tx = db.begin().await?;
    sqlx::query!(r#"insert into appearance (id) values (1) on conflict (id) do nothing"#)
        .execute(&mut *tx)
        .await?;
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
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Where an image uploaded on the theme page goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSlot {
    HeaderImage,
    Logo,
    Favicon,
    ProfilePicture,
}

impl ImageSlot {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "header_image" => Some(Self::HeaderImage),
            "logo" => Some(Self::Logo),
            "favicon" => Some(Self::Favicon),
            "profile_picture" => Some(Self::ProfilePicture),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::HeaderImage => "header_image",
            Self::Logo => "logo",
            Self::Favicon => "favicon",
            Self::ProfilePicture => "profile_picture",
        }
    }
}

/// Puts an uploaded image in its place, changing nothing else (a save from another tab stays).
pub async fn set_image(db: &PgPool, slot: ImageSlot, url: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(r#"insert into appearance (id) values (1) on conflict (id) do nothing"#)
        .execute(db)
        .await?;
    sqlx::query!(
        r#"update appearance set
               header_image = case when $1 = 'header_image' then $2 else header_image end,
               logo = case when $1 = 'logo' then $2 else logo end,
               favicon = case when $1 = 'favicon' then $2 else favicon end,
               gadget_options = case when $1 = 'profile_picture'
                                     then jsonb_set(gadget_options, '{profile_picture}', to_jsonb($2::text))
                                     else gadget_options end
           where id = 1"#,
        slot.name(),
        url
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
    /// The comment as readers see it (the gadget shows the start of its text).
    pub body_html: String,
}

pub async fn recent_comments(db: &PgPool, limit: i64) -> Result<Vec<RecentComment>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select c.id, c.author_name, p.title as post_title, c.body_html
           from comments c join posts p on p.id = c.post_id
           where c.status = 'approved' and p.status = 'published' and p.published_at <= now()
           order by c.created_at desc, c.id desc
           limit $1"#,
        limit.clamp(1, 20)
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| RecentComment {
            id: row.id,
            author_name: row.author_name,
            post_title: row.post_title,
            body_html: row.body_html,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_folio_cannot_read_loses_only_itself() {
        let options = lenient_options(serde_json::json!({
            "profile_name": "Kept",
            "labels_style": "spiral",
            "popular_count": -4,
            "popular_days": 999_999,
            "text_body": "Kept too",
        }));
        assert_eq!(options.profile_name, "Kept");
        assert_eq!(options.text_body, "Kept too");
        assert_eq!(
            options.labels_style,
            crate::domain::theme::LabelsStyle::List
        );
        assert_eq!((options.popular_count, options.popular_days), (1, 3650));
        let gadgets = lenient_gadgets(serde_json::json!([
            {"kind": "search", "on": true},
            {"kind": "weather", "on": true},
            {"kind": "labels", "on": false, "title": "Topics"},
        ]));
        assert_eq!(gadgets.len(), 2);
        assert_eq!(gadgets[1].title(), "Topics");
    }
}
