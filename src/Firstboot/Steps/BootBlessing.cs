// Step 8: the boot is marked good: systemd-boot's entry loses its boot counter; a Pi's slot needs no commit on first boot.
namespace Appliance.Firstboot.Steps;

/// <summary>
/// UEFI boards: <c>loader/entries/appliance-SLOT+LEFT[-DONE].conf</c> is renamed <c>appliance-SLOT.conf</c>
/// (Boot Loader Specification, "Boot counting"), so systemd-boot stops counting tries. Raspberry Pi boards: the
/// firmware booted the slot of <c>config.txt</c>'s <c>[all]</c> section, not a tryboot, so there is nothing to commit;
/// committing a tryboot belongs to the upgrade agent.
/// </summary>
public static class BootBlessing
{
    private const string Entries = "loader/entries";

    /// <summary>Runs the step; returns what it did, for the log.</summary>
    public static string Run(BootPartition boot, string slot)
    {
        var (names, pi) = boot.Read(fat => (fat.List(Entries), fat.Exists("autoboot.txt")));
        var blessed = $"appliance-{slot}.conf";
        if (names.Contains(blessed, StringComparer.OrdinalIgnoreCase)) return $"bless: {Entries}/{blessed} has no boot counter already";
        var counted = names.FirstOrDefault(n => n.StartsWith($"appliance-{slot}+", StringComparison.OrdinalIgnoreCase) && n.EndsWith(".conf", StringComparison.OrdinalIgnoreCase));
        if (counted is not null)
        {
            boot.Edit(fat => fat.Rename($"{Entries}/{counted}", blessed));
            return $"bless: renamed {Entries}/{counted} to {blessed}";
        }
        if (pi) return $"bless: Raspberry Pi slot {slot} booted without tryboot; nothing to commit";
        throw new InvalidDataException($"bless: no boot entry for slot {slot} in {Entries} on the boot partition (found: {string.Join(", ", names)})");
    }
}
