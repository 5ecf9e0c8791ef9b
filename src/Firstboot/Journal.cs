// The first-boot journal on the data partition: which one-time steps are done, each recorded durably.
using System.Text.Json;
using System.Text.Json.Nodes;
using Appliance.Common;

namespace Appliance.Firstboot;

/// <summary>
/// DATA/firstboot/journal: a JSON object <c>{"version":1,"done":["partition","secrets",…]}</c>, in completion order.
/// Each completion replaces the whole file through <see cref="AtomicFile"/> (temp file, fsync, rename, fsync of the
/// directory), so after a power cut it holds either the steps before or the steps including the new one. It holds no
/// times, so two runs that did the same steps leave the same bytes.
/// </summary>
public sealed class Journal
{
    private readonly string _path;
    private readonly List<string> _done;

    private Journal(string path, List<string> done)
    {
        _path = path;
        _done = done;
    }

    /// <summary>The steps done, in order.</summary>
    public IReadOnlyList<string> Done => _done;

    /// <summary>Whether <paramref name="step"/> is recorded as done.</summary>
    public bool IsDone(string step) => _done.Contains(step);

    /// <summary>Whether a journal exists in <paramref name="path"/>'s place.</summary>
    public static bool Exists(string path) => File.Exists(path);

    /// <summary>Reads the journal; a missing file is an empty journal.</summary>
    /// <exception cref="InvalidDataException">The file is not a journal.</exception>
    public static Journal Open(string path)
    {
        if (!File.Exists(path)) return new Journal(path, []);
        try
        {
            var node = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject
                ?? throw new InvalidDataException($"{path}: not a JSON object");
            var done = (node["done"] as JsonArray)?.Select(n => n?.GetValue<string>() ?? "").ToList()
                ?? throw new InvalidDataException($"{path}: no \"done\" array");
            return new Journal(path, done);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}");
        }
    }

    /// <summary>Records <paramref name="step"/> as done, durably, before returning.</summary>
    public void Record(string step)
    {
        if (_done.Contains(step)) return;
        _done.Add(step);
        Write();
    }

    /// <summary>Writes the journal as it is (the first write creates it).</summary>
    public void Write()
    {
        var json = new JsonObject { ["version"] = 1, ["done"] = new JsonArray(_done.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()) };
        AtomicFile.WriteText(_path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
