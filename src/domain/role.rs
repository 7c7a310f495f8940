/// What a user may do. Each role includes everything the ones below it may do. Stored as its
/// lowercase name (`users.role`), read back typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Role {
    /// Writes and publishes their own posts.
    Author,
    /// Every post, and comment moderation.
    Editor,
    /// Also users and settings.
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "author" => Some(Role::Author),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Author => "author",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Author => "Author",
            Role::Editor => "Editor",
            Role::Admin => "Admin",
        }
    }

    pub const ALL: [Role; 3] = [Role::Author, Role::Editor, Role::Admin];
}
