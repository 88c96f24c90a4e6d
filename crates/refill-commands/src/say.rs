//! The customer's say over what screened devices order: their limits, the presses waiting for
//! an answer (approve or decline, from the app or from a notification), and the sandbox
//! fridge's screen, which the app opens in the system browser.

use crate::{AppCore, AppError, Doing};
use refill_client::ClientError;
use refill_wire::{
    ApprovalView, DeviceLimits, ErrorCode, LimitsChange, OrdersGoChange, OrdersGoView, SlotProduct,
};
use std::sync::PoisonError;

/// How long a token of the sandbox fridge's screen lasts, in real time (the sandbox's clock may
/// run faster).
const SCREEN_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

impl AppCore {
    /// Orders `asin` where no page can ask the customer (a notification's Reorder, the tray):
    /// as a tap; an order already on its way is told, so is a failure (`what` failed), and a
    /// price that rose more than 10 % is told with both prices in a notice whose "Order anyway"
    /// confirms the price it names (`confirm_price`, from that notice).
    pub async fn reorder_unattended(&self, asin: String, confirm_price: Option<i64>, what: &str) {
        match self.press_button(asin.clone(), confirm_price).await {
            Ok(result) if result.detail_code == refill_wire::DetailCode::OrderInProgress => {
                self.announce(crate::tray::already_ordered(&result));
            }
            Ok(_) => {}
            Err(e) if e.code == ErrorCode::PriceRose => {
                let price = self.price_now(&asin).await;
                self.announce(crate::notices::price_rose(asin, price, &e));
            }
            Err(e) => self.announce(crate::notices::problem(what, &e)),
        }
    }

    /// The price of a pack of `asin` now (minor units), from the catalog.
    async fn price_now(&self, asin: &str) -> Option<i64> {
        let client = self.client().await.ok()?;
        let products = client.products().await.ok()?;
        products
            .products
            .into_iter()
            .find(|p| p.asin == asin)
            .map(|p| p.price.amount_minor)
    }

    /// The presses waiting for the customer's answer (oldest first), then the latest answered.
    pub async fn approvals(&self) -> Result<Vec<ApprovalView>, AppError> {
        let client = self.client().await?;
        client
            .approvals()
            .await
            .map(|list| list.approvals)
            .map_err(|e| self.error(e, Doing::Listing))
    }

    /// The customer's answer to a press that waits for it: approved places the order.
    pub async fn decide_approval(
        &self,
        id: String,
        approve: bool,
    ) -> Result<ApprovalView, AppError> {
        let client = self.client().await?;
        let decided = client
            .decide_approval(&id, approve)
            .await
            .map_err(|e| self.error(e, Doing::Answering))?;
        tracing::info!(approve, "approval request answered");
        Ok(decided)
    }

    /// Where the customer's orders go, on a service that does not fulfil them itself, after
    /// `change` if one is given (a new webhook secret is in that answer only); `None` on one that
    /// fulfils them and has no such choice (the app's embedded sandbox).
    pub async fn orders_go(
        &self,
        change: Option<OrdersGoChange>,
    ) -> Result<Option<OrdersGoView>, AppError> {
        // The embedded sandbox fulfils its orders itself (and has no such route).
        if self.service_info().kind == crate::ServiceKind::Embedded {
            return match change {
                None => Ok(None),
                Some(_) => Err(AppError::new(
                    ErrorCode::BadRequest,
                    "The sandbox on this computer buys and delivers its orders itself.",
                )),
            };
        }
        let client = self.client().await?;
        match client.orders_go(change.as_ref()).await {
            Ok(view) => Ok(Some(view)),
            Err(ClientError::Api { status: 404, .. }) if change.is_none() => Ok(None),
            Err(e) if change.is_none() => Err(self.error(e, Doing::Listing)),
            Err(e) => Err(self.error(e, Doing::Changing)),
        }
    }

    /// What a screened device may spend, and what its orders cost this month.
    pub async fn device_limits(
        &self,
        model: String,
        serial: String,
    ) -> Result<DeviceLimits, AppError> {
        let client = self.client().await?;
        client
            .device_limits(&model, &serial)
            .await
            .map_err(|e| self.error(e, Doing::Listing))
    }

    /// Sets a screened device's limits and whether it asks first.
    pub async fn change_device_limits(
        &self,
        model: String,
        serial: String,
        change: LimitsChange,
    ) -> Result<DeviceLimits, AppError> {
        let client = self.client().await?;
        client
            .set_device_limits(&model, &serial, &change)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// Chooses what a screened device shows (and so may order): 1 to 12 products, in order.
    pub async fn change_device_buttons(
        &self,
        model: String,
        serial: String,
        asins: Vec<String>,
    ) -> Result<Vec<SlotProduct>, AppError> {
        let client = self.client().await?;
        client
            .set_device_buttons(&model, &serial, &asins)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// The address of a device's screen that the app can open: the sandbox fridge's, while the
    /// sandbox is in use.
    pub fn device_screen_url(&self, model: String, serial: String) -> Option<String> {
        let sandbox_fridge = model.as_str() == refill_service::sandbox::SCREEN_MODELS[0].0
            && serial == refill_service::sandbox::FRIDGE_SERIAL;
        if !sandbox_fridge || self.service_url().is_some() {
            return None;
        }
        self.inner
            .fridge_screen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|screen| format!("http://{}/", screen.addr))
    }

    /// Opens a device's screen in the system browser (the sandbox fridge's); its address.
    pub async fn open_device_screen(
        &self,
        model: String,
        serial: String,
    ) -> Result<String, AppError> {
        if self.service_url().is_none() {
            // The sandbox starts on first use.
            self.client().await?;
        }
        let url = self.device_screen_url(model, serial).ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                "This device's screen is on the device itself: Refill can only open the \
                 sandbox fridge's screen."
                    .to_owned(),
            )
        })?;
        if let Err(e) = self.inner.platform.host.open_url(&url) {
            tracing::warn!("the browser did not open: {e}");
        }
        Ok(url)
    }

    /// Serves the sandbox fridge's screen (a simulated device's web page with the web SDK),
    /// next to the embedded service at `service`.
    pub(crate) async fn start_fridge_screen(
        &self,
        service: &refill_service::RunningService,
        clock: refill_core::SharedClock,
        speed: f64,
    ) {
        let store = service.store().clone();
        let lifetime = time::Duration::try_from(SCREEN_TOKEN_LIFETIME.mul_f64(speed.max(1.0)))
            .unwrap_or(time::Duration::hours(1));
        let tokens: refill_device_sim::TokenSource = std::sync::Arc::new(
            refill_service::sandbox::fridge_tokens(store, clock, lifetime),
        );
        let (_, name) = refill_service::sandbox::SCREEN_MODELS[0];
        match refill_device_sim::serve_screen(name, &service.base_url(), tokens).await {
            Ok(screen) => {
                *self
                    .inner
                    .fridge_screen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(screen);
            }
            Err(e) => tracing::warn!("the sandbox fridge's screen could not start: {e}"),
        }
    }
}
