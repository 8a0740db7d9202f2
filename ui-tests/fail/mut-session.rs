use rpc::Session;

struct Chat;

#[rpc::router]
impl Chat {
    #[rpc::cast]
    async fn leave(&self, session: &mut Session) {
        session.close();
    }
}

fn main() {}
