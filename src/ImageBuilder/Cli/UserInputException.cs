// The one exception type that means "the user gave us bad input": exit code 2, one line, no stack trace.
namespace Appliance.ImageBuilder.Cli;

/// <summary>
/// Bad usage or bad input. The message names what is wrong and where
/// (<c>file:line:col</c>, byte offset, or field path). The CLI prints it as one line and exits 2.
/// </summary>
public class UserInputException : Exception
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public UserInputException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    public UserInputException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Extra lines printed after the message (for example every validation problem).</summary>
    public IReadOnlyList<string> Details { get; init; } = [];
}
