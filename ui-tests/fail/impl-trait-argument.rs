struct Printer;

#[rpc::router]
impl Printer {
    #[rpc::cast]
    async fn print(&self, text: impl std::fmt::Display) {
        println!("{text}");
    }
}

fn main() {}
