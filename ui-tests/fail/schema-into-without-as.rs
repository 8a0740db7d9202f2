use serde::Serialize;

#[derive(Clone, Serialize, rpc::Schema)]
#[serde(into = "String")]
struct Email {
    user: String,
    host: String,
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        format!("{}@{}", email.user, email.host)
    }
}

fn main() {}
