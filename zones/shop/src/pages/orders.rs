//! `/shop/orders`: the signed-in user's orders. Anonymous visitors are sent
//! to sign in and brought back here.

use leptos::prelude::*;
use leptos_meta::Title;
use shared_auth::leptos::require_user_page;
use shared_ui::document::page_title;
use shared_ui::format::format_time;

use super::LoadError;
use crate::api::list_orders;
use crate::model::format_price;
use crate::order_path;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let Some(user) = require_user_page() else {
        return view! { <p>"Redirecting to sign-in…"</p> }.into_any();
    };
    let orders = Resource::new(|| (), |_| list_orders());
    view! {
        <Title text=page_title("Your orders") />
        <section class="hero hero--quiet">
            <p class="eyebrow">"Shop"</p>
            <h1>"Your orders"</h1>
            <p class="lead" data-user=user.username.clone()>
                {format!("Signed in as {}.", user.display_name)}
            </p>
        </section>
        <Suspense fallback=|| view! { <p>"Loading your orders…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(orders) if orders.is_empty() => view! {
                        <section class="card">
                            <h2>"No orders yet"</h2>
                            <p>"Orders you place in the shop appear here."</p>
                            <a href=crate::ZONE.home()>"Browse the catalogue"</a>
                        </section>
                    }
                    .into_any(),
                    Ok(orders) => view! {
                        <ul class="orders">
                            {orders
                                .into_iter()
                                .map(|order| view! {
                                    <li class="order-row" data-order=order.id.clone()>
                                        <a href=order_path(&order.id)>{format!("Order {}", order.id)}</a>
                                        <span>{format_time(order.created_at)}</span>
                                        <span>{format!("{} items", order.item_count)}</span>
                                        <span class="num">{format_price(order.total_cents)}</span>
                                    </li>
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}
