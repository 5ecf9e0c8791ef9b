// Step 9: /run/appliance/status.json (and its copy on DATA) and the console banner.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.Common;

namespace Appliance.Firstboot;

/// <summary>
/// What first boot knows about the node, written as <c>status.json</c> after every step and shown as a banner of a
/// few lines: site, role, node state, API address, image version and OS digest, and the reason when it failed.
/// </summary>
public sealed class StatusReport
{
    /// <summary>The site name (metadata.name), or null before site.yaml was read.</summary>
    public string? Site { get; set; }
    /// <summary>server or agent.</summary>
    public string? Role { get; set; }
    /// <summary>The node name.</summary>
    public string? Node { get; set; }
    /// <summary>starting, Ready, NotReady, Disabled, failed.</summary>
    public string NodeState { get; set; } = "starting";
    /// <summary>The API address.</summary>
    public string? ApiAddress { get; set; }
    /// <summary>The runtime version the image carries (build.json runtime).</summary>
    public string? ImageVersion { get; set; }
    /// <summary>The OS image digest the image was built from (build.json osDigest).</summary>
    public string? ImageDigest { get; set; }
    /// <summary>The booted slot (a disk boot).</summary>
    public string? Slot { get; set; }
    /// <summary>disk, live or install (<see cref="BootMode"/>).</summary>
    public string Mode { get; set; } = "disk";
    /// <summary>A line for the banner that says what to do now (the installer's outcome), or null.</summary>
    public string? Notice { get; set; }
    /// <summary>The step running or last run.</summary>
    public string? Step { get; set; }
    /// <summary>Why first boot failed, or null.</summary>
    public string? Reason { get; set; }
    /// <summary>While step 7 waits for the node: why it is not Ready yet ("cannot reach https://..."), else null.</summary>
    public string? Waiting { get; set; }
    /// <summary>The steps done on this disk (the journal).</summary>
    public IReadOnlyList<string> Done { get; set; } = [];

    /// <summary>The JSON document.</summary>
    public JsonObject ToJson() => new()
    {
        ["site"] = Site, ["role"] = Role,
        ["node"] = new JsonObject { ["name"] = Node, ["state"] = NodeState },
        ["apiAddress"] = ApiAddress,
        ["image"] = new JsonObject { ["version"] = ImageVersion, ["osDigest"] = ImageDigest },
        ["slot"] = Slot, ["mode"] = Mode, ["step"] = Step, ["reason"] = Reason, ["notice"] = Notice, ["waiting"] = Waiting,
        ["done"] = new JsonArray(Done.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
        ["updated"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    };

    /// <summary>Writes the live status and, when the data partition is mounted, its copy there.</summary>
    public void Write(FirstbootPaths paths, bool dataMounted)
    {
        var text = ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        Directory.CreateDirectory(paths.Run);
        AtomicFile.WriteText(paths.Status, text, new AtomicFileOptions(Durable: false));
        if (dataMounted && Directory.Exists(paths.FirstbootDir))
            AtomicFile.WriteText(Path.Combine(paths.FirstbootDir, "status.json"), text);
    }

    /// <summary>Writes the status (<see cref="Write"/>); a failure to write is logged, never fatal.</summary>
    public void Publish(FirstbootPaths paths, bool dataMounted, Action<string> log)
    {
        try { Write(paths, dataMounted); }
        catch (IOException e) { log($"status: cannot write it: {e.Message}"); }
    }

    /// <summary>Prints the banner on <paramref name="console"/>.</summary>
    public void Show(TextWriter console)
    {
        foreach (var line in Banner(ToJson())) console.WriteLine(line);
        console.Flush();
    }

    /// <summary>Takes the image version and OS digest from build.json; an unreadable file is logged and left out.</summary>
    public void ReadBuildFacts(string buildJson, Action<string> log)
    {
        try
        {
            if (File.Exists(buildJson) && JsonNode.Parse(File.ReadAllBytes(buildJson)) is JsonObject b)
            {
                ImageVersion = b["runtime"]?.GetValue<string>();
                ImageDigest = b["osDigest"]?.GetValue<string>();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            log($"status: {buildJson} is not readable JSON: {e.Message}");
        }
    }

    /// <summary>The banner lines of a status document.</summary>
    public static IReadOnlyList<string> Banner(JsonObject s)
    {
        string V(JsonNode? n) => n?.GetValue<string>() ?? "-";
        var mode = s["mode"]?.GetValue<string>() ?? "disk";
        var lines = new List<string>
        {
            $"Appliance site {V(s["site"])} ({V(s["role"])}), node {V(s["node"]?["name"])}: {V(s["node"]?["state"])}",
            $"  API       {V(s["apiAddress"])}",
            $"  image     {V(s["image"]?["version"])} (OS {V(s["image"]?["osDigest"])}), " +
                (mode == "disk" ? $"slot {V(s["slot"])}" : $"from the medium ({mode})"),
        };
        if (s["notice"] is { } notice)
            lines.Add($"  {notice.GetValue<string>()}");
        if (s["reason"] is { } r)
            lines.Add($"  FAILED    at {V(s["step"])}: {r.GetValue<string>()}");
        else if (s["waiting"] is { } w)
            lines.Add($"  WAITING   {w.GetValue<string>()}");
        return lines;
    }
}
