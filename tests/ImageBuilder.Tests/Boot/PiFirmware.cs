// What the Raspberry Pi firmware does to cmdline.txt before it starts the kernel, for boot tests that start the kernel without it.
using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Appliance.ImageBuilder.Tests.Boot;

/// <summary>
/// The firmware reads the device tree's <c>serial0</c>/<c>serial1</c> aliases and replaces those words in cmdline.txt
/// with the Linux name of the UART each alias points at (raspberrypi/firmware issue 553, pelwell: "The firmware already
/// reads these aliases, using them to rewrite cmdline.txt replacing serial0 and serial1 with the appropriate UART"):
/// the PL011 (<c>arm,pl011</c>) is <c>ttyAMA0</c>, the mini UART (<c>brcm,bcm2835-aux-uart</c>) <c>ttyS0</c>
/// (Raspberry Pi documentation, configuration/uart.adoc). qemu does not run the firmware, so the boot tests do this
/// rewrite with the image's own device tree.
/// </summary>
public static class PiFirmware
{
    /// <summary>cmdline.txt as the firmware hands it to the kernel booted with <paramref name="dtb"/>.</summary>
    public static string RewriteSerialAliases(string cmdline, byte[] dtb)
    {
        var (aliases, compatible) = Read(dtb);
        return Regex.Replace(cmdline, @"(?<=console=)serial[01]\b", m =>
        {
            if (!aliases.TryGetValue(m.Value, out var path))
                throw new InvalidDataException($"the device tree has no alias {m.Value}, so the firmware would leave '{m.Value}' in cmdline.txt");
            var compat = compatible.GetValueOrDefault(path, "");
            return compat.Contains("arm,pl011", StringComparison.Ordinal) ? "ttyAMA0"
                : compat.Contains("brcm,bcm2835-aux-uart", StringComparison.Ordinal) ? "ttyS0"
                : throw new InvalidDataException($"alias {m.Value} points at {path} ({compat}), which is neither the PL011 nor the mini UART");
        });
    }

    /// <summary>
    /// The settings config.txt gives a board of <paramref name="model"/> (the filter names of the Raspberry Pi
    /// documentation, config_txt/conditional.adoc: pi3, pi4, pi400, cm4, ...) on a normal boot or a tryboot: lines under
    /// [all] and under filters that match; [all] clears the filters, a model filter replaces the last model filter, and
    /// [tryboot] holds only on the boot after <c>reboot "0 tryboot"</c>. The Pi 4 family matches [pi4] too.
    /// <c>initramfs NAME followkernel</c> is kept as <c>initramfs=NAME</c>.
    /// </summary>
    public static Dictionary<string, string> Settings(string configTxt, string model, bool tryboot)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? modelFilter = null;
        bool? tryFilter = null;
        bool MatchesModel(string f) => f == model || (f == "pi4" && model is "pi400" or "cm4");
        foreach (var raw in configTxt.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                var f = line[1..^1];
                if (f == "all") { modelFilter = null; tryFilter = null; }
                else if (f == "tryboot") tryFilter = true;
                else modelFilter = f;
                continue;
            }
            if ((modelFilter is not null && !MatchesModel(modelFilter)) || (tryFilter == true && !tryboot)) continue;
            if (line.StartsWith("initramfs ", StringComparison.Ordinal)) { result["initramfs"] = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]; continue; }
            var eq = line.IndexOf('=');
            if (eq > 0) result[line[..eq]] = line[(eq + 1)..];
        }
        return result;
    }

    // Devicetree Specification v0.4 §5: a header of big-endian 32-bit words, then the structure block of tokens
    // (FDT_BEGIN_NODE 1 + name, FDT_END_NODE 2, FDT_PROP 3 + len + nameoff + value, FDT_NOP 4, FDT_END 9), 4-byte aligned.
    private static (Dictionary<string, string> Aliases, Dictionary<string, string> Compatible) Read(byte[] dtb)
    {
        uint Word(int at) => BinaryPrimitives.ReadUInt32BigEndian(dtb.AsSpan(at));
        if (Word(0) != 0xd00dfeed) throw new InvalidDataException($"not a flattened device tree (magic 0x{Word(0):x8} instead of 0xd00dfeed)");
        int structAt = (int)Word(8), stringsAt = (int)Word(12);
        string Cstr(int at) => Encoding.ASCII.GetString(dtb, at, Array.IndexOf(dtb, (byte)0, at) - at);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var compatible = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = new List<string>();
        for (int p = structAt; ;)
        {
            uint token = Word(p);
            p += 4;
            switch (token)
            {
                case 1:
                    var name = Cstr(p);
                    path.Add(name);
                    p = (p + name.Length + 1 + 3) & ~3;
                    break;
                case 2: path.RemoveAt(path.Count - 1); break;
                case 3:
                    int len = (int)Word(p), nameOff = (int)Word(p + 4);
                    var value = Encoding.ASCII.GetString(dtb, p + 8, len).TrimEnd('\0');
                    var node = "/" + string.Join('/', path.Skip(1));
                    var prop = Cstr(stringsAt + nameOff);
                    if (node == "/aliases") aliases[prop] = value;
                    else if (prop == "compatible") compatible[node] = value.Replace('\0', ' ');
                    p = (p + 8 + len + 3) & ~3;
                    break;
                case 4: break;
                case 9: return (aliases, compatible);
                default: throw new InvalidDataException($"unknown device tree token {token} at offset {p - 4}");
            }
        }
    }
}
