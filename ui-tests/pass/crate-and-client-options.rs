//! `crate = "..."` reaches the runtime through a re-export (the attributes
//! under that path too); `client` and `client_vis` name the stub and set
//! its visibility.

mod calc {
    pub struct Calculator;

    #[rpc_ui_tests::rpc::router(crate = "rpc_ui_tests::rpc", client = "Calc", client_vis = "pub(crate)")]
    impl Calculator {
        #[rpc_ui_tests::rpc::call]
        async fn add(&self, a: i64, b: i64) -> i64 {
            a + b
        }

        #[rpc::cast]
        async fn forget(&self) {}
    }
}

mod api {
    #[rpc_ui_tests::rpc::service(crate = "::rpc_ui_tests::rpc", client = "Pinger")]
    pub trait Ping {
        #[rpc_ui_tests::rpc::call]
        async fn ping(&self, n: u8) -> u8;
    }

    pub(crate) mod private {
        #[rpc_ui_tests::rpc::service(crate = "rpc_ui_tests::rpc", client_vis = "")]
        pub trait Hidden {
            #[rpc_ui_tests::rpc::cast]
            async fn hide(&self);
        }

        pub(crate) async fn hide(peer: &rpc::Peer) -> Result<(), rpc::Error> {
            HiddenClient::new(peer).hide().await
        }
    }
}

async fn call(peer: &rpc::Peer) -> Result<(), rpc::Error> {
    let _: i64 = calc::Calc::new(peer).add(1, 2).await?;
    let _: u8 = api::Pinger::new(peer).ping(1).await?;
    api::private::hide(peer).await?;
    Ok(())
}

fn main() {
    let _ = rpc::Server::builder().mount(calc::Calculator);
    let _ = call;
}
