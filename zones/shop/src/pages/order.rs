//! `/shop/orders/<id>`: one of the user's orders. Someone else's order is
//! a 404, exactly like one that does not exist.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use shared_auth::leptos::require_user_page;
use shared_ui::NotFound;
use shared_ui::document::page_title;
use shared_ui::format::format_time;

use super::LoadError;
use crate::api::get_order;
use crate::model::format_price;
use crate::product_path;

#[component]
pub fn OrderPage() -> impl IntoView {
    if require_user_page().is_none() {
        return view! { <p>"Redirecting to sign-in…"</p> }.into_any();
    }
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let order = Resource::new(id, get_order);
    view! {
        <Suspense fallback=|| view! { <p>"Loading the order…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(Some(order)) => {
                        let summary = order.summary;
                        view! {
                            <Title text=page_title(&format!("Order {}", summary.id)) />
                            <section class="hero hero--quiet">
                                <p class="eyebrow"><a href=crate::orders_path()>"Your orders"</a></p>
                                <h1>{format!("Order {}", summary.id)}</h1>
                                <p class="lead">
                                    {format!(
                                        "Placed {}: {} items, {}.",
                                        format_time(summary.created_at),
                                        summary.item_count,
                                        format_price(summary.total_cents),
                                    )}
                                </p>
                            </section>
                            <table class="cart order-lines">
                                <thead>
                                    <tr>
                                        <th scope="col">"Product"</th>
                                        <th scope="col" class="num">"Price"</th>
                                        <th scope="col" class="num">"Quantity"</th>
                                        <th scope="col" class="num">"Total"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {order.lines.into_iter().map(|line| view! {
                                        <tr>
                                            <th scope="row"><a href=product_path(&line.slug)>{line.name}</a></th>
                                            <td class="num">{format_price(line.unit_price_cents)}</td>
                                            <td class="num">{line.quantity}</td>
                                            <td class="num">{format_price(line.unit_price_cents * line.quantity)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    <tr>
                                        <th scope="row" colspan="3">"Total"</th>
                                        <td class="num order__total">{format_price(summary.total_cents)}</td>
                                    </tr>
                                </tfoot>
                            </table>
                        }
                        .into_any()
                    }
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}
