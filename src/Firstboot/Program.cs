// Entry point of `appliance-firstboot`: `run` (the journaled first boot), `status`, and System.CommandLine's `--version` (one line).
using System.CommandLine;
using System.Text.Json.Nodes;
using Appliance.Firstboot;

var rootOption = new Option<string>("--root") { Description = "Prefix of every device path (/run/appliance, the data mount, /etc/appliance); for host tests", DefaultValueFactory = _ => "/" };

var bootDevice = new Option<string?>("--boot-device") { Description = "The boot partition (default: the FAT32 volume labelled BOOT)" };
var disk = new Option<string?>("--disk") { Description = "The whole disk (default: the boot partition's disk)" };
var slot = new Option<string?>("--slot") { Description = "The booted slot (default: appliance.slot= of the kernel command line, else a)" };
var deviceActions = new Option<string>("--device-actions") { Description = "device: hostname, network, runtime; off: skip them (host tests)", DefaultValueFactory = _ => "device" };
deviceActions.AcceptOnlyFromAmong(DeviceActions.Kinds);
var noSetClock = new Option<bool>("--no-set-clock") { Description = "Report the clock floor without setting the clock" };
var noSupervise = new Option<bool>("--no-supervise") { Description = "Exit after the steps instead of supervising the runtime" };
var run = new Command("run", "Run the first-boot steps (resuming after the last one done), then supervise the runtime")
{
    rootOption, bootDevice, disk, slot, deviceActions, noSetClock, noSupervise,
};
run.SetAction(async (parse, ct) =>
{
    var paths = new FirstbootPaths(parse.GetValue(rootOption)!);
    var log = new FirstbootLog(Console.Error, Path.Combine(paths.Run, "firstboot.log"));
    var options = new RunOptions(paths, parse.GetValue(bootDevice), parse.GetValue(disk), parse.GetValue(slot),
        SetClock: !parse.GetValue(noSetClock), Supervise: !parse.GetValue(noSupervise));
    var actions = DeviceActions.Create(parse.GetValue(deviceActions)!, paths, log.Info);
    return await new FirstbootRun(options, actions, log).RunAsync(ct);
});

var output = new Option<string>("--output", "-o") { Description = "text (the banner) or json", DefaultValueFactory = _ => "text" };
output.AcceptOnlyFromAmong("text", "json");
var status = new Command("status", "Print the node's first-boot status") { rootOption, output };
status.SetAction(parse =>
{
    var paths = new FirstbootPaths(parse.GetValue(rootOption)!);
    var file = File.Exists(paths.Status) ? paths.Status : Path.Combine(paths.FirstbootDir, "status.json");
    if (!File.Exists(file))
    {
        Console.Error.WriteLine($"appliance-firstboot: no status yet ({paths.Status} does not exist: first boot has not started)");
        return 1;
    }
    var text = File.ReadAllText(file);
    if (parse.GetValue(output) == "json")
    {
        Console.Out.Write(text);
        return 0;
    }
    if (JsonNode.Parse(text) is not JsonObject doc)
    {
        Console.Error.WriteLine($"appliance-firstboot: {file}: not a status document");
        return 1;
    }
    foreach (var line in StatusReport.Banner(doc)) Console.Out.WriteLine(line);
    return doc["reason"] is null ? 0 : 1;
});

var root = new RootCommand("appliance-firstboot: journaled first boot and A/B upgrades on the device") { run, status };
return await root.Parse(args).InvokeAsync();
