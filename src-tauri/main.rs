//! The Ballast desktop app's entry point; everything lives in the `ballast_app` library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    ballast_app::run();
}
