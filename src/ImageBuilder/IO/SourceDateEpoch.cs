// The one parser of SOURCE_DATE_EPOCH, shared by every verb that stamps times into its output.
using System.Globalization;

namespace Appliance.ImageBuilder.IO;

/// <summary>Reads <c>SOURCE_DATE_EPOCH</c> (reproducible-builds.org) from the environment.</summary>
public static class SourceDateEpoch
{
    /// <summary>
    /// The largest accepted value. SquashFS, cpio and tar headers keep 32-bit unsigned seconds, so a later time
    /// could not be stored faithfully (2106-02-07).
    /// </summary>
    public const long Max = uint.MaxValue;

    /// <summary>The value in seconds, or null when unset; a malformed or out-of-range value is bad input.</summary>
    public static long? Read(Func<string, string?> env)
    {
        var text = env("SOURCE_DATE_EPOCH");
        if (string.IsNullOrEmpty(text))
            return null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var secs))
            throw new UserInputException($"SOURCE_DATE_EPOCH: '{text}' is not a whole number of seconds since 1970");
        if (secs > Max)
            throw new UserInputException($"SOURCE_DATE_EPOCH: {secs} is out of range (0 to {Max}, the 32-bit times that image formats store)");
        return secs;
    }
}
