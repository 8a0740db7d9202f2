#[rpc::cast]
async fn log(line: String) {
    println!("{line}");
}

fn main() {}
