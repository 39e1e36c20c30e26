// The dataset's interactive map: Leaflet over a plain background (no basemap, nothing fetched).
// Draws window.ITLAKE_MAP, written beside the page by `itlake portal build`: either the release's
// own features, coloured by a category where one fits, over the district outlines of
// window.ITLAKE_ZONES; or those districts shaded by a measure of the rows.
(function () {
  "use strict";
  var layer = window.ITLAKE_MAP;
  var zones = window.ITLAKE_ZONES;
  var box = document.getElementById("map");
  if (!layer || !zones || !box || !window.L) return;

  // Colour-blind-safe categories (Okabe and Ito), then a light-to-dark blue scale for measures.
  var CATEGORIES = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"];
  var SHADES = ["#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08306b"];
  var SINGLE = "#0b4f6c";
  var NO_DATA = "#dddddd";

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }

  function attributes(properties) {
    var rows = Object.keys(properties).map(function (key) {
      var value = properties[key];
      return "<tr><th>" + escapeHtml(key) + "</th><td>" + (value === null ? "null" : escapeHtml(value)) + "</td></tr>";
    });
    return "<table>" + rows.join("") + "</table>";
  }

  var map = L.map(box, {attributionControl: false, zoomSnap: 0.25});
  L.control.scale({imperial: false}).addTo(map);
  var legend = L.control({position: "bottomright"});
  var colourOf, legendHtml;

  if (layer.kind === "features") {
    var categories = [];
    if (layer.category) {
      layer.features.features.forEach(function (f) {
        var v = f.properties[layer.category];
        if (v !== null && v !== undefined && categories.indexOf(v) === -1) categories.push(v);
      });
      categories.sort();
    }
    colourOf = function (properties) {
      if (!layer.category) return SINGLE;
      var i = categories.indexOf(properties[layer.category]);
      return i === -1 ? NO_DATA : CATEGORIES[i];
    };
    legendHtml = categories.map(function (c, i) {
      return "<i style=\"background:" + CATEGORIES[i] + "\"></i>" + escapeHtml(c);
    }).join("<br>");
    if (legendHtml) legendHtml = "<strong>" + escapeHtml(layer.category) + "</strong><br>" + legendHtml;
  } else {
    var valueOf = function (properties) {
      var v = layer.values[properties.zone_id];
      return v === undefined ? null : v;
    };
    var values = Object.keys(layer.values).map(function (k) { return layer.values[k]; });
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    var step = (high - low) / SHADES.length;
    colourOf = function (properties) {
      var v = valueOf(properties);
      if (v === null) return NO_DATA;
      if (step === 0) return SHADES[SHADES.length - 1];
      return SHADES[Math.min(SHADES.length - 1, Math.floor((v - low) / step))];
    };
    legendHtml = "<strong>" + escapeHtml(layer.value) + " (" + escapeHtml(layer.how) + ")</strong><br>";
    if (values.length) {
      legendHtml += SHADES.map(function (s, i) {
        var from = low + i * step;
        return "<i style=\"background:" + s + "\"></i>" + (step === 0 ? low : from.toFixed(1) + "–" + (from + step).toFixed(1));
      }).join("<br>") + "<br>";
    }
    legendHtml += "<i style=\"background:" + NO_DATA + "\"></i>no data 无数据";
  }

  var drawn;
  if (layer.kind === "features") {
    // The districts only situate the features: drawn faintly, and not clickable.
    L.geoJSON(zones, {interactive: false, style: {color: "#b8c2c8", weight: 1, fill: false}}).addTo(map);
    drawn = L.geoJSON(layer.features, {
      style: function (feature) {
        var colour = colourOf(feature.properties);
        return {color: colour, weight: 4, opacity: 1, fillColor: colour, fillOpacity: 0.8};
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {radius: 6});
      },
      onEachFeature: function (feature, item) {
        item.bindPopup(attributes(feature.properties), {maxWidth: 320});
      }
    }).addTo(map);
  } else {
    drawn = L.geoJSON(zones, {
      style: function (feature) {
        return {color: "#ffffff", weight: 1, fillColor: colourOf(feature.properties), fillOpacity: 1};
      },
      onEachFeature: function (feature, item) {
        var v = valueOf(feature.properties);
        var shown = {zone_id: feature.properties.zone_id, zone_name: feature.properties.zone_name};
        shown[layer.value + " (" + layer.how + ")"] = v;
        item.bindPopup(attributes(shown));
        item.bindTooltip(escapeHtml(feature.properties.zone_name) + ": " +
          (v === null ? "no data 无数据" : escapeHtml(v)));
      }
    }).addTo(map);
  }

  if (legendHtml) {
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "legend");
      div.innerHTML = legendHtml;
      return div;
    };
    legend.addTo(map);
  }
  // A release without a single placed feature still shows where it would be: the districts.
  var bounds = drawn.getBounds().isValid() ? drawn.getBounds() : L.geoJSON(zones).getBounds();
  map.fitBounds(bounds, {padding: [20, 20], maxZoom: 16});
  box.setAttribute("data-features", String(drawn.getLayers().length));
})();
