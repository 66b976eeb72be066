import "./style.css";
import { call, errorWords, onRunEvent, onStationChanged } from "./api";
import { h } from "./dom";
import { setLanguage, t, type Key } from "./i18n";
import { OperatorScreen } from "./operator";
import { QaScreen } from "./qa";
import { EngineerScreen } from "./engineer";

type Tab = "operator" | "qa" | "engineer";

async function main(): Promise<void> {
  const screen = document.getElementById("screen")!;
  const tabs = document.getElementById("tabs")!;
  let station = await call("station_info", {});
  const operatorRoot = h("div", { id: "operator-screen" });
  const qaRoot = h("div", { id: "qa-screen" });
  const engineerRoot = h("div", { id: "engineer-screen" });
  const operator = new OperatorScreen(station, operatorRoot);
  const qa = new QaScreen(qaRoot);
  qa.fleetAvailable = station.fleet;
  const engineer = new EngineerScreen(engineerRoot);
  let current: Tab = "operator";
  const lang = document.getElementById("lang") as HTMLSelectElement;
  lang.value = localStorage.getItem("lang") ?? "en";

  const show = (tab: Tab) => {
    current = tab;
    tabs.replaceChildren(...(["operator", "qa", "engineer"] as Tab[]).map((name) =>
      h("button", { role: "tab", id: `tab-${name}`, "aria-selected": String(name === tab), class: name === tab ? "active" : "", onclick: () => show(name) }, t(`tab.${name}` as Key))));
    document.getElementById("lang-text")!.textContent = t("lang");
    document.getElementById("station-line")!.replaceChildren(
      t("station", { id: station.station_id }), station.demo ? h("span", { class: "demo" }, t("demo")) : "");
    if (station.error) {
      screen.replaceChildren(h("div", { class: "fatal", id: "station-error" }, h("h1", {}, t("error.station")), h("p", {}, errorWords(station.error))));
      return;
    }
    if (tab === "operator") { operator.render(); screen.replaceChildren(operatorRoot); }
    if (tab === "qa") { screen.replaceChildren(qaRoot); qa.render(); qa.refresh(); }
    if (tab === "engineer") { screen.replaceChildren(engineerRoot); engineer.render(); engineer.load(); }
  };
  lang.onchange = () => { localStorage.setItem("lang", lang.value); setLanguage(lang.value); show(current); };
  setLanguage(lang.value);
  await onRunEvent((e) => {
    operator.onEvent(e);
    if (current === "qa" && e.kind === "finished") qa.runFinished();
  });
  await onStationChanged(async () => {
    station = await call("station_info", {});
    qa.fleetAvailable = station.fleet;
    operator.setStation(station);
    if (current === "operator") operator.render();
  });
  // Fixtures come and go (a USB cable pulled, a hub reset): look every two seconds.
  window.setInterval(async () => {
    if (station.error) return;
    try {
      const links = operator.setLinks(await call("slot_links", {}));
      const fleet = operator.setFleet(await call("fleet_state", {}));
      if ((links || fleet) && current === "operator") operator.update();
    } catch {
      // The station answers again on the next look.
    }
  }, 2000);
  window.addEventListener("keydown", (e) => { if (current === "operator") operator.onKey(e); });
  show("operator");
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  document.getElementById("screen")!.textContent = String(e?.message ?? e);
});
