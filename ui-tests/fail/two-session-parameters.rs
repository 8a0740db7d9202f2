use rpc::Session;

struct Chat;

#[rpc::router]
impl Chat {
    #[rpc::cast]
    async fn join(&self, session: &Session, again: &rpc::Session, room: String) {
        let _ = (session, again, room);
    }
}

fn main() {}
